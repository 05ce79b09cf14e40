# defer.sh: vgg19: throughput against nodes, real compute at 0.2 of a core per node, 100Mbit links\nthe N = 1 point is the whole model on one device (every line)
# data: throughput-vgg19.dat; re-plot from this directory with: gnuplot throughput-vgg19.gp
reset session
set encoding utf8
set grid
set title "vgg19: throughput against nodes, real compute at 0.2 of a core per node, 100Mbit links\nthe N = 1 point is the whole model on one device (every line)" noenhanced
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
set output 'throughput-vgg19.png'
plot 'throughput-vgg19.dat' index 0 using 1:2 with linespoints lw 1.5 pt 1 title "defer, none"
set terminal svg size 960,600 noenhanced font "Sans,10"
set output 'throughput-vgg19.svg'
replot
unset output
