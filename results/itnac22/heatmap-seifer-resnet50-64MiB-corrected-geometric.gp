# edgepipe plot: mean bottleneck latency by bandwidth classes C and nodes N
# data: heatmap-seifer-resnet50-64MiB-corrected-geometric.dat; re-plot from this directory with: gnuplot heatmap-seifer-resnet50-64MiB-corrected-geometric.gp
reset session
set encoding utf8
set grid
set title "seifer mean bottleneck latency (ms) by classes C and nodes N\nresnet50, 64 MiB, corrected variant, geometric cluster\nmean over the trials with status ok; excluded, not averaged: none\nthe mean does not vary with C at any N: the plans here do not depend on the class count" noenhanced
unset grid
unset key
set tics scale 0
set xlabel "nodes N"
set ylabel "bandwidth classes C"
set cblabel "mean bottleneck latency (ms)"
set palette defined (0 "#ffffcc", 1 "#feb24c", 2 "#f03b20")
set xtics ("5" 0, "10" 1, "15" 2, "20" 3, "50" 4)
set ytics ("2" 0, "5" 1, "8" 2, "11" 3, "14" 4, "17" 5, "20" 6)
set xrange [-0.5:4.5]
set yrange [-0.5:6.5]
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 960,600 noenhanced font "Sans,10"
} else {
	set terminal png size 960,600 noenhanced
}
set output 'heatmap-seifer-resnet50-64MiB-corrected-geometric.png'
plot 'heatmap-seifer-resnet50-64MiB-corrected-geometric.dat' index 0 using 1:2:(0.5):(0.5):5 with boxxyerror fillcolor palette fillstyle solid 1.0 border lc rgb "white", \
     'heatmap-seifer-resnet50-64MiB-corrected-geometric.dat' index 0 using 1:2:(stringcolumn(8)) with labels
set terminal svg size 960,600 noenhanced font "Sans,10"
set output 'heatmap-seifer-resnet50-64MiB-corrected-geometric.svg'
replot
unset output
