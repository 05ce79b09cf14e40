# edgepipe plot: bottleneck latency against N
# data: bottleneck-mobilenetv2-512MiB-published-geometric.dat; re-plot from this directory with: gnuplot bottleneck-mobilenetv2-512MiB-published-geometric.gp
reset session
set encoding utf8
set grid
set title "Bottleneck latency against N: mobilenetv2, 512 MiB, published variant, geometric cluster\nmean and 95% CI over the trials with status ok\nexcluded, not averaged: none\nlines offset slightly along N; \"= X\" in the key: the same means as X at every N" noenhanced
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
set output 'bottleneck-mobilenetv2-512MiB-published-geometric.png'
plot 'bottleneck-mobilenetv2-512MiB-published-geometric.dat' index 0 using ($1*0.964847):2:3 with yerrorlines lw 1.5 pt 1 ps 1.2 title "defer (ok 250, excluded 0)", \
     'bottleneck-mobilenetv2-512MiB-published-geometric.dat' index 1 using ($1*0.976425):2:3 with yerrorlines lw 1.5 pt 2 ps 1.2 title "feltin (ok 250, excluded 0)", \
     'bottleneck-mobilenetv2-512MiB-published-geometric.dat' index 2 using ($1*0.988142):2:3 with yerrorlines lw 1.5 pt 3 ps 1.2 title "greedy (ok 250, excluded 0) = feltin", \
     'bottleneck-mobilenetv2-512MiB-published-geometric.dat' index 3 using ($1*1):2:3 with yerrorlines lw 1.5 pt 4 ps 1.2 title "joint (ok 250, excluded 0) = feltin", \
     'bottleneck-mobilenetv2-512MiB-published-geometric.dat' index 4 using ($1*1.012):2:3 with yerrorlines lw 1.5 pt 5 ps 1.2 title "optimal (ok 250, excluded 0) = feltin", \
     'bottleneck-mobilenetv2-512MiB-published-geometric.dat' index 5 using ($1*1.02414):2:3 with yerrorlines lw 1.5 pt 6 ps 1.2 title "random (ok 250, excluded 0) = feltin", \
     'bottleneck-mobilenetv2-512MiB-published-geometric.dat' index 6 using ($1*1.03643):2:3 with yerrorlines lw 1.5 pt 7 ps 1.2 title "seifer C=8 (ok 250, excluded 0) = feltin"
set terminal svg size 960,600 noenhanced font "Sans,10"
set output 'bottleneck-mobilenetv2-512MiB-published-geometric.svg'
replot
unset output
