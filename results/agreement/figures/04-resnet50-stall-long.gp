# edgepipe compare: throughput over time, analytic, simulated and emulated
# data: 04-resnet50-stall-long.dat; re-plot from this directory with: gnuplot 04-resnet50-stall-long.gp
reset
if (!exists("out_suffix")) out_suffix = ""
set encoding utf8
set grid
set key below
set xlabel 'time from the first request (s)'
set ylabel 'throughput (answers / s)'
set yrange [0:*]
set title "resnet50 on 5 nodes (uniform cluster, seed 1), seifer plan 0..21@2 21..40@1\nclosed window 3, 200 requests, compute model (speed 0: none)\nfaults: stall stage1 at 2s for 1.5s" noenhanced font ',10'
set arrow from 2, graph 0 to 2, graph 1 nohead dt 2 lc rgb 'gray40'
set label "stall stage1 at 2s for 1.5s" at 2, graph 0.98 rotate by 90 right font ',8' noenhanced tc rgb 'gray30' front
set arrow from 3.5, graph 0 to 3.5, graph 1 nohead dt 3 lc rgb 'gray40'
set label "end: stall stage1 at 2s for 1.5s" at 3.5, graph 0.98 rotate by 90 right font ',8' noenhanced tc rgb 'gray30' front
set arrow from 2.5, graph 0 to 2.5, graph 0.08 nohead lw 2 lc rgb '#1f5fbf' front
set arrow from 2.5, graph 0 to 2.5, graph 0.16 nohead lw 2 lc rgb '#1f5fbf' front
set arrow from 2.54384776, graph 0 to 2.54384776, graph 0.08 nohead lw 2 lc rgb '#c0392b' front
set arrow from 2.56378186, graph 0 to 2.56378186, graph 0.16 nohead lw 2 lc rgb '#c0392b' front
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 1000,560 noenhanced font "Sans,10"
} else {
	set terminal png size 1000,560 noenhanced
}
set output '04-resnet50-stall-long.png'.out_suffix
plot \
  '04-resnet50-stall-long.dat' index 0 using 1:2 with steps lw 1 lc rgb '#000000' title 'analytic', \
  '04-resnet50-stall-long.dat' index 1 using 1:2 with steps lw 2 lc rgb '#1f5fbf' title 'sim', \
  '04-resnet50-stall-long.dat' index 2 using 1:2 with steps lw 2 lc rgb '#c0392b' title 'emu', \
  NaN with lines dt 2 lc rgb 'gray40' title 'fault (dotted: its end); marks: detection (short), new plan live (tall)'
unset output
