# edgepipe plot: bottleneck latency against N
# data: bottleneck-inceptionresnetv2-64MiB-corrected-geometric.dat; re-plot from this directory with: gnuplot bottleneck-inceptionresnetv2-64MiB-corrected-geometric.gp
reset session
set encoding utf8
set grid
set title "Bottleneck latency against N: inceptionresnetv2, 64 MiB, corrected variant, geometric cluster\nmean and 95% CI over the trials with status ok\nexcluded, not averaged: 600 infeasible" noenhanced
set xlabel "nodes N (log scale)"
set xtics (5, 10, 15, 20, 50)
set logscale x
set mxtics 1
set xrange [4.34783:57.5]
set ylabel "bottleneck latency (ms)"
set key below noenhanced height 1 samplen 2
set yrange [0:*]
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 960,600 noenhanced font "Sans,10"
} else {
	set terminal png size 960,600 noenhanced
}
set output 'bottleneck-inceptionresnetv2-64MiB-corrected-geometric.png'
plot 'bottleneck-inceptionresnetv2-64MiB-corrected-geometric.dat' index 0 using ($1*0.970619):2:3 with yerrorlines lw 1.5 pt 1 ps 1.2 title "defer (ok 150, excluded 100)", \
     NaN with linespoints title "feltin: none (250 infeasible)", \
     'bottleneck-inceptionresnetv2-64MiB-corrected-geometric.dat' index 1 using ($1*0.982266):2:3 with yerrorlines lw 1.5 pt 3 ps 1.2 title "greedy (ok 200, excluded 50)", \
     'bottleneck-inceptionresnetv2-64MiB-corrected-geometric.dat' index 2 using ($1*0.994053):2:3 with yerrorlines lw 1.5 pt 4 ps 1.2 title "joint (ok 200, excluded 50)", \
     'bottleneck-inceptionresnetv2-64MiB-corrected-geometric.dat' index 3 using ($1*1.00598):2:3 with yerrorlines lw 1.5 pt 5 ps 1.2 title "optimal (ok 200, excluded 50)", \
     'bottleneck-inceptionresnetv2-64MiB-corrected-geometric.dat' index 4 using ($1*1.01805):2:3 with yerrorlines lw 1.5 pt 6 ps 1.2 title "random (ok 200, excluded 50)", \
     'bottleneck-inceptionresnetv2-64MiB-corrected-geometric.dat' index 5 using ($1*1.03027):2:3 with yerrorlines lw 1.5 pt 7 ps 1.2 title "seifer C=8 (ok 200, excluded 50)"
set terminal svg size 960,600 noenhanced font "Sans,10"
set output 'bottleneck-inceptionresnetv2-64MiB-corrected-geometric.svg'
replot
unset output
