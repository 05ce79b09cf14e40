# seifer.sh: resnet50: throughput against nodes, real compute at 0.2 of a core per node, 64MiB per node, 100Mbit links\nN = 1: the whole model on one device of 2GiB (every line); runs without a plan are left out
# data: throughput-nodes.dat; re-plot from this directory with: gnuplot throughput-nodes.gp
reset session
set encoding utf8
set grid
set title "resnet50: throughput against nodes, real compute at 0.2 of a core per node, 64MiB per node, 100Mbit links\nN = 1: the whole model on one device of 2GiB (every line); runs without a plan are left out" noenhanced
set xlabel "nodes N"
set ylabel "inferences per second"
set key below noenhanced height 1 samplen 2
set xtics 1
set yrange [0:*]
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 960,600 noenhanced font "Sans,10"
} else {
	set terminal png size 960,600 noenhanced
}
set output 'throughput-nodes.png'
plot 'throughput-nodes.dat' index 0 using 1:2 with linespoints lw 1.5 pt 1 lc 1 title "joint (emulated)", 'throughput-nodes.dat' index 0 using 1:3 with lines dt 2 lc 1 title "joint (analytic)", 'throughput-nodes.dat' index 1 using 1:2 with linespoints lw 1.5 pt 2 lc 2 title "optimal (emulated)", 'throughput-nodes.dat' index 1 using 1:3 with lines dt 2 lc 2 title "optimal (analytic)", 'throughput-nodes.dat' index 2 using 1:2 with linespoints lw 1.5 pt 3 lc 3 title "seifer (emulated)", 'throughput-nodes.dat' index 2 using 1:3 with lines dt 2 lc 3 title "seifer (analytic)"
set terminal svg size 960,600 noenhanced font "Sans,10"
set output 'throughput-nodes.svg'
replot
unset output
