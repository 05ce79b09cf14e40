# seifer.sh: resnet50 on 8 nodes (seifer): throughput over time, a node killed and a model rolled out\ndashed: the fault (red) and the update (blue); dotted green: the re-planned deployment live
# data: timeline.dat; re-plot from this directory with: gnuplot timeline.gp
reset session
set encoding utf8
set grid
set title "resnet50 on 8 nodes (seifer): throughput over time, a node killed and a model rolled out\ndashed: the fault (red) and the update (blue); dotted green: the re-planned deployment live" noenhanced
set xlabel "time from the first request (s)"
set ylabel "answers per second (2 s bins)"
set key below noenhanced height 1 samplen 2
set yrange [0:*]
set arrow from 4.00064175800071, graph 0 to 4.00064175800071, graph 1 nohead dt 2 lc rgb "red"
set label "kill stage2 at 4s" at 4.00064175800071, graph 0.95 offset 0.5,0 tc rgb "red"
set arrow from 4.99501424600021, graph 0 to 4.99501424600021, graph 1 nohead dt 3 lc rgb "dark-green"
set arrow from 10.0000902270003, graph 0 to 10.0000902270003, graph 1 nohead dt 2 lc rgb "blue"
set label "update to mobilenetv2" at 10.0000902270003, graph 0.85 right offset -0.5,0 tc rgb "blue"
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 960,600 noenhanced font "Sans,10"
} else {
	set terminal png size 960,600 noenhanced
}
set output 'timeline.png'
plot 'timeline.dat' using 1:2 with steps lw 1.5 title "answers per second"
set terminal svg size 960,600 noenhanced font "Sans,10"
set output 'timeline.svg'
replot
unset output
