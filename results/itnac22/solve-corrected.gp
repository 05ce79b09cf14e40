# edgepipe plot: solve time against N
# data: solve-corrected.dat; re-plot from this directory with: gnuplot solve-corrected.gp
reset session
set encoding utf8
set grid
set title "Solve time against N: corrected variant, all models, memory sizes and clusters\nmean wall-clock solve time over the trials with status ok\nexcluded, not averaged: 750 infeasible" noenhanced
set xlabel "nodes N (log scale)"
set xtics (5, 10, 15, 20, 50)
set logscale x
set mxtics 1
set xrange [4.34783:57.5]
set ylabel "solve time (s)"
set key below noenhanced height 1 samplen 2
set logscale y
set format y "%g"
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 960,600 noenhanced font "Sans,10"
} else {
	set terminal png size 960,600 noenhanced
}
set output 'solve-corrected.png'
plot 'solve-corrected.dat' index 0 using ($1*0.964847):2 with linespoints lw 1.5 pt 1 ps 1.2 title "defer (ok 3750, excluded 250)", \
     'solve-corrected.dat' index 1 using ($1*0.976425):2 with linespoints lw 1.5 pt 2 ps 1.2 title "feltin (ok 3750, excluded 250)", \
     'solve-corrected.dat' index 2 using ($1*0.988142):2 with linespoints lw 1.5 pt 3 ps 1.2 title "greedy (ok 3950, excluded 50)", \
     'solve-corrected.dat' index 3 using ($1*1):2 with linespoints lw 1.5 pt 4 ps 1.2 title "joint (ok 3950, excluded 50)", \
     'solve-corrected.dat' index 4 using ($1*1.012):2 with linespoints lw 1.5 pt 5 ps 1.2 title "optimal (ok 3950, excluded 50)", \
     'solve-corrected.dat' index 5 using ($1*1.02414):2 with linespoints lw 1.5 pt 6 ps 1.2 title "random (ok 3950, excluded 50)", \
     'solve-corrected.dat' index 6 using ($1*1.03643):2 with linespoints lw 1.5 pt 7 ps 1.2 title "seifer C=8 (ok 3950, excluded 50)"
set terminal svg size 960,600 noenhanced font "Sans,10"
set output 'solve-corrected.svg'
replot
unset output
