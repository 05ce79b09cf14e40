# edgepipe compare: throughput over time, analytic, simulated and emulated
# data: 12-mobilenetv2-nofault.dat; re-plot from this directory with: gnuplot 12-mobilenetv2-nofault.gp
reset
if (!exists("out_suffix")) out_suffix = ""
set encoding utf8
set grid
set key below
set xlabel 'time from the first request (s)'
set ylabel 'throughput (answers / s)'
set yrange [0:*]
set title "mobilenetv2 on 5 nodes (uniform cluster, seed 2), seifer plan 0..37@1 37..75@3\nclosed window 3, 60 requests, compute model\nfaults: none" noenhanced font ',10'
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 1000,560 noenhanced font "Sans,10"
} else {
	set terminal png size 1000,560 noenhanced
}
set output '12-mobilenetv2-nofault.png'.out_suffix
plot \
  '12-mobilenetv2-nofault.dat' index 0 using 1:2 with steps lw 1 lc rgb '#000000' title 'analytic', \
  '12-mobilenetv2-nofault.dat' index 1 using 1:2 with steps lw 2 lc rgb '#1f5fbf' title 'sim', \
  '12-mobilenetv2-nofault.dat' index 2 using 1:2 with steps lw 2 lc rgb '#c0392b' title 'emu', \
  NaN with lines dt 2 lc rgb 'gray40' title 'fault (dotted: its end); marks: detection (short), new plan live (tall)'
unset output
