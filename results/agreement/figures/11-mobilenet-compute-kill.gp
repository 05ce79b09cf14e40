# edgepipe compare: throughput over time, analytic, simulated and emulated
# data: 11-mobilenet-compute-kill.dat; re-plot from this directory with: gnuplot 11-mobilenet-compute-kill.gp
reset
if (!exists("out_suffix")) out_suffix = ""
set encoding utf8
set grid
set key below
set xlabel 'time from the first request (s)'
set ylabel 'throughput (answers / s)'
set yrange [0:*]
set title "mobilenet on 5 nodes (uniform cluster, seed 1), seifer plan 0..37@1 37..90@2\nclosed window 3, 36 requests, compute model\nfaults: kill stage0 at 4s" noenhanced font ',10'
set arrow from 4, graph 0 to 4, graph 1 nohead dt 2 lc rgb 'gray40'
set label "kill stage0 at 4s" at 4, graph 0.98 rotate by 90 right font ',8' noenhanced tc rgb 'gray30' front
set arrow from 4.5, graph 0 to 4.5, graph 0.08 nohead lw 2 lc rgb '#1f5fbf' front
set arrow from 4.5, graph 0 to 4.5, graph 0.16 nohead lw 2 lc rgb '#1f5fbf' front
set arrow from 4.44883211, graph 0 to 4.44883211, graph 0.08 nohead lw 2 lc rgb '#c0392b' front
set arrow from 4.46049262, graph 0 to 4.46049262, graph 0.16 nohead lw 2 lc rgb '#c0392b' front
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 1000,560 noenhanced font "Sans,10"
} else {
	set terminal png size 1000,560 noenhanced
}
set output '11-mobilenet-compute-kill.png'.out_suffix
plot \
  '11-mobilenet-compute-kill.dat' index 0 using 1:2 with steps lw 1 lc rgb '#000000' title 'analytic', \
  '11-mobilenet-compute-kill.dat' index 1 using 1:2 with steps lw 2 lc rgb '#1f5fbf' title 'sim', \
  '11-mobilenet-compute-kill.dat' index 2 using 1:2 with steps lw 2 lc rgb '#c0392b' title 'emu', \
  NaN with lines dt 2 lc rgb 'gray40' title 'fault (dotted: its end); marks: detection (short), new plan live (tall)'
unset output
