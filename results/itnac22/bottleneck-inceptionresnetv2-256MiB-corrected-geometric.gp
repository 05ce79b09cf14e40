# edgepipe plot: bottleneck latency against N
# data: bottleneck-inceptionresnetv2-256MiB-corrected-geometric.dat; re-plot from this directory with: gnuplot bottleneck-inceptionresnetv2-256MiB-corrected-geometric.gp
reset session
set encoding utf8
set grid
set title "Bottleneck latency against N: inceptionresnetv2, 256 MiB, corrected variant, geometric cluster\nmean and 95% CI over the trials with status ok\nexcluded, not averaged: 150 limit" noenhanced
set xlabel "nodes N"
set xtics (5, 10, 15, 20, 50)
set xrange [2.75:52.25]
set ylabel "bottleneck latency (ms, log scale)"
set key below noenhanced height 1 samplen 2
set logscale y
set format y "%g"
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 960,600 noenhanced font "Sans,10"
} else {
	set terminal png size 960,600 noenhanced
}
set output 'bottleneck-inceptionresnetv2-256MiB-corrected-geometric.png'
plot 'bottleneck-inceptionresnetv2-256MiB-corrected-geometric.dat' index 0 using 1:2:3 with yerrorlines lw 1.5 pt 1 title "defer (ok 250, excluded 0)", \
     'bottleneck-inceptionresnetv2-256MiB-corrected-geometric.dat' index 1 using 1:2:3 with yerrorlines lw 1.5 pt 2 title "greedy (ok 250, excluded 0)", \
     'bottleneck-inceptionresnetv2-256MiB-corrected-geometric.dat' index 2 using 1:2:3 with yerrorlines lw 1.5 pt 3 title "joint (ok 250, excluded 0)", \
     'bottleneck-inceptionresnetv2-256MiB-corrected-geometric.dat' index 3 using 1:2:3 with yerrorlines lw 1.5 pt 4 title "optimal (ok 100, excluded 150)", \
     'bottleneck-inceptionresnetv2-256MiB-corrected-geometric.dat' index 4 using 1:2:3 with yerrorlines lw 1.5 pt 5 title "random (ok 250, excluded 0)", \
     'bottleneck-inceptionresnetv2-256MiB-corrected-geometric.dat' index 5 using 1:2:3 with yerrorlines lw 1.5 pt 6 title "seifer C=8 (ok 250, excluded 0)"
set terminal svg size 960,600 noenhanced font "Sans,10"
set output 'bottleneck-inceptionresnetv2-256MiB-corrected-geometric.svg'
replot
unset output
