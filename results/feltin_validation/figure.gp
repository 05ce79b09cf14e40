# feltin_validation.sh: measured against predicted throughput, one point per run
# data: figure.dat; re-plot from this directory with: gnuplot figure.gp
reset session
set encoding utf8
set grid
set title "Feltin's model against the emulator (real inference, cgroup-capped nodes)" noenhanced
set xlabel "predicted throughput, 1/T on Feltin's metric (inferences/s)"
set ylabel "measured throughput, edgepipe emu --compute real (inferences/s)"
set logscale xy
set key top left noenhanced
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 800,700 noenhanced font "Sans,10"
} else {
	set terminal png size 800,700 noenhanced
}
set output 'figure.png'
plot x with lines lc rgb "black" title "measured = predicted", \
     1.1 * x with lines dt 2 lc rgb "gray" title "+/- 10 %", 0.9 * x with lines dt 2 lc rgb "gray" notitle, \
     'figure.dat' index 0 using 1:2 with points pt 7 ps 1.2 title "compute binds (1 Gbit/s links)", \
     'figure.dat' index 1 using 1:2 with points pt 5 ps 1.2 title "links 2-8 Mbit/s", \
     'figure.dat' index 2 using 1:2 with points pt 9 ps 1.4 title "links 5-20 Mbit/s"
set terminal svg size 800,700 noenhanced font "Sans,10"
set output 'figure.svg'
replot
unset output
