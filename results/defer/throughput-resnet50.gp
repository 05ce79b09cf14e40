# defer.sh: resnet50: throughput against nodes, real compute at 0.2 of a core per node, 100Mbit links\nthe N = 1 point is the whole model on one device (every line)
# data: throughput-resnet50.dat; re-plot from this directory with: gnuplot throughput-resnet50.gp
reset session
set encoding utf8
set grid
set title "resnet50: throughput against nodes, real compute at 0.2 of a core per node, 100Mbit links\nthe N = 1 point is the whole model on one device (every line)" noenhanced
set xlabel "compute nodes N"
set ylabel "inferences per second (emulated)"
set key below noenhanced height 1 samplen 2
set xtics 1
set yrange [0:*]
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 960,600 noenhanced font "Sans,10"
} else {
	set terminal png size 960,600 noenhanced
}
set output 'throughput-resnet50.png'
plot 'throughput-resnet50.dat' index 0 using 1:2 with linespoints lw 1.5 pt 1 title "defer, none", 'throughput-resnet50.dat' index 1 using 1:2 with linespoints lw 1.5 pt 2 title "optimal, none", 'throughput-resnet50.dat' index 2 using 1:2 with linespoints lw 1.5 pt 3 title "defer, zfp+lz4"
set terminal svg size 960,600 noenhanced font "Sans,10"
set output 'throughput-resnet50.svg'
replot
unset output
