# edgepipe plot: gap (b - b_opt) / b_opt to optimal against N, paired by trial
# data: gap-efficientnetb1-published-geometric.dat; re-plot from this directory with: gnuplot gap-efficientnetb1-published-geometric.gp
reset session
set encoding utf8
set grid
set title "Gap to the proven optimum against N: efficientnetb1, published variant, geometric cluster, all memory sizes\nmean per-trial (b - b_opt)/b_opt and 95% CI over the trials where both are ok and b_opt > 0\nexcluded, not averaged: 50 infeasible; optimal 3000 with bottleneck 0\nlines offset slightly along N; \"= X\" in the key: the same means as X at every N" noenhanced
set xlabel "nodes N (log scale)"
set xtics (5, 10, 15, 20, 50)
set logscale x
set mxtics 1
set xrange [4.34783:57.5]
set ylabel "gap to the proven optimum (%, signed log scale)"
set key below noenhanced height 1 samplen 2
f_sl(y) = y >= 0 ? log10(1 + y) : -log10(1 - y)
g_sl(y) = y >= 0 ? 10**y - 1 : 1 - 10**(-y)
set nonlinear y via f_sl(y) inverse g_sl(y)
set ytics ("0" 0, "1" 1, "-1" -1, "2" 2, "-2" -2, "5" 5, "-5" -5, "10" 10, "-10" -10, "20" 20, "-20" -20, "50" 50, "-50" -50, "100" 100, "-100" -100, "200" 200, "-200" -200, "500" 500, "1000" 1000, "2000" 2000, "5000" 5000, "10000" 10000, "20000" 20000)
set yrange [-145.106:38637.4]
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 960,600 noenhanced font "Sans,10"
} else {
	set terminal png size 960,600 noenhanced
}
set output 'gap-efficientnetb1-published-geometric.png'
plot 'gap-efficientnetb1-published-geometric.dat' index 0 using ($1*0.970619):2:3 with yerrorlines lw 1.5 pt 1 ps 1.2 title "defer (pairs 450, excluded 550)", \
     'gap-efficientnetb1-published-geometric.dat' index 1 using ($1*0.982266):2:3 with yerrorlines lw 1.5 pt 2 ps 1.2 title "feltin (pairs 500, excluded 500)", \
     'gap-efficientnetb1-published-geometric.dat' index 2 using ($1*0.994053):2:3 with yerrorlines lw 1.5 pt 3 ps 1.2 title "greedy (pairs 500, excluded 500)", \
     'gap-efficientnetb1-published-geometric.dat' index 3 using ($1*1.00598):2:3 with yerrorlines lw 1.5 pt 4 ps 1.2 title "joint (pairs 500, excluded 500) = greedy", \
     'gap-efficientnetb1-published-geometric.dat' index 4 using ($1*1.01805):2:3 with yerrorlines lw 1.5 pt 5 ps 1.2 title "random (pairs 500, excluded 500)", \
     'gap-efficientnetb1-published-geometric.dat' index 5 using ($1*1.03027):2:3 with yerrorlines lw 1.5 pt 6 ps 1.2 title "seifer C=8 (pairs 500, excluded 500)"
set terminal svg size 960,600 noenhanced font "Sans,10"
set output 'gap-efficientnetb1-published-geometric.svg'
replot
unset output
