# edgepipe plot: gap (b - b_opt) / b_opt to optimal against N, paired by trial
# data: gap-efficientnetb1-corrected-geometric.dat; re-plot from this directory with: gnuplot gap-efficientnetb1-corrected-geometric.gp
reset session
set encoding utf8
set grid
set title "Gap to the exact optimum against N: efficientnetb1, corrected variant, geometric cluster, all memory sizes\nmean per-trial (b - b_opt)/b_opt and 95% CI over the trials where both are ok and b_opt > 0\nexcluded, not averaged: 50 infeasible; optimal 3000 limit" noenhanced
set xlabel "nodes N"
set xtics (5, 10, 15, 20, 50)
set xrange [2.75:52.25]
set ylabel "gap to optimal (%)"
set key below noenhanced height 1 samplen 2
set xzeroaxis lt -1
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 960,600 noenhanced font "Sans,10"
} else {
	set terminal png size 960,600 noenhanced
}
set output 'gap-efficientnetb1-corrected-geometric.png'
plot 'gap-efficientnetb1-corrected-geometric.dat' index 0 using 1:2:3 with yerrorlines lw 1.5 pt 1 title "defer (pairs 350, excluded 650)", \
     'gap-efficientnetb1-corrected-geometric.dat' index 1 using 1:2:3 with yerrorlines lw 1.5 pt 2 title "greedy (pairs 400, excluded 600)", \
     'gap-efficientnetb1-corrected-geometric.dat' index 2 using 1:2:3 with yerrorlines lw 1.5 pt 3 title "joint (pairs 400, excluded 600)", \
     'gap-efficientnetb1-corrected-geometric.dat' index 3 using 1:2:3 with yerrorlines lw 1.5 pt 4 title "random (pairs 400, excluded 600)", \
     'gap-efficientnetb1-corrected-geometric.dat' index 4 using 1:2:3 with yerrorlines lw 1.5 pt 5 title "seifer C=8 (pairs 400, excluded 600)"
set terminal svg size 960,600 noenhanced font "Sans,10"
set output 'gap-efficientnetb1-corrected-geometric.svg'
replot
unset output
