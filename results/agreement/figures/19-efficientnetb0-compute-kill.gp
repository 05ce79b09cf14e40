# edgepipe compare: throughput over time, analytic, simulated and emulated
# data: 19-efficientnetb0-compute-kill.dat; re-plot from this directory with: gnuplot 19-efficientnetb0-compute-kill.gp
reset
if (!exists("out_suffix")) out_suffix = ""
set encoding utf8
set grid
set key below
set xlabel 'time from the first request (s)'
set ylabel 'throughput (answers / s)'
set yrange [0:*]
set title "efficientnetb0 on 5 nodes (uniform cluster, seed 5), seifer plan 0..12@1 12..23@2 23..44@0 44..67@4 67..86@3\nclosed window 2, 50 requests, compute model\nfaults: kill stage1 at 3s" noenhanced font ',10'
set arrow from 3, graph 0 to 3, graph 1 nohead dt 2 lc rgb 'gray40'
set label "kill stage1 at 3s" at 3, graph 0.98 rotate by 90 right font ',8' noenhanced tc rgb 'gray30' front
set arrow from 3.5, graph 0 to 3.5, graph 0.08 nohead lw 2 lc rgb '#1f5fbf' front
set arrow from 3.5, graph 0 to 3.5, graph 0.16 nohead lw 2 lc rgb '#1f5fbf' front
set arrow from 3.50079788, graph 0 to 3.50079788, graph 0.08 nohead lw 2 lc rgb '#c0392b' front
set arrow from 3.57482638, graph 0 to 3.57482638, graph 0.16 nohead lw 2 lc rgb '#c0392b' front
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 1000,560 noenhanced font "Sans,10"
} else {
	set terminal png size 1000,560 noenhanced
}
set output '19-efficientnetb0-compute-kill.png'.out_suffix
plot \
  '19-efficientnetb0-compute-kill.dat' index 0 using 1:2 with steps lw 1 lc rgb '#000000' title 'analytic', \
  '19-efficientnetb0-compute-kill.dat' index 1 using 1:2 with steps lw 2 lc rgb '#1f5fbf' title 'sim', \
  '19-efficientnetb0-compute-kill.dat' index 2 using 1:2 with steps lw 2 lc rgb '#c0392b' title 'emu', \
  NaN with lines dt 2 lc rgb 'gray40' title 'fault (dotted: its end); marks: detection (short), new plan live (tall)'
unset output
