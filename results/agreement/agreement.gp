# experiments/agreement.sh: emulated against simulated throughput and recovery time, one point
# per scenario (its number); re-plot from this directory with: gnuplot agreement.gp
# agreement.dat: block 0, number, sim and emu throughput; block 1, number, sim and emu recovery
reset
if (!exists("out_suffix")) out_suffix = ""
do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1200,560 font ",10" } else { set terminal svg size 1200,560 font ",10" }
  set output "agreement.".fmt.out_suffix
  set multiplot layout 1,2 title "edgepipe compare: emulated against simulated (experiments/agreement.sh)"
  set grid
  set key top left
  set logscale xy
  set xlabel "simulated throughput (/s)"
  set ylabel "emulated throughput (/s)"
  set title "throughput over the measured interval (aim: within 10 %)"
  plot x with lines lc rgb "gray40" title "emu = sim",        1.1 * x with lines dt 2 lc rgb "gray60" title "+-10 %", 0.9 * x with lines dt 2 lc rgb "gray60" notitle, "agreement.dat" index 0 using 2:3 with points pt 7 lc rgb "#1f5fbf" notitle, "" index 0 using 2:3:1 with labels offset 0.8,0.6 font ",8" notitle
  unset logscale
  set xrange [0:*]
  set yrange [0:*]
  set xlabel "simulated recovery (s)"
  set ylabel "emulated recovery (s)"
  set title "recovery time, fault to new plan live (aim: within 20 % or 0.5 s)"
  plot x with lines lc rgb "gray40" title "emu = sim",        (x * 1.2 > x + 0.5 ? x * 1.2 : x + 0.5) with lines dt 2 lc rgb "gray60" title "aim's band",        (x * 0.8 < x - 0.5 ? x * 0.8 : x - 0.5) with lines dt 2 lc rgb "gray60" notitle, "agreement.dat" index 1 using 2:3 with points pt 7 lc rgb "#c0392b" notitle, "" index 1 using 2:3:1 with labels offset 0.8,0.6 font ",8" notitle
  unset multiplot
  unset output
  set xrange [*:*]
  set yrange [*:*]
}
