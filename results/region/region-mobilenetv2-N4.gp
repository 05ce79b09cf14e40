# edgepipe region: speed-up of partitioning over the best single device
# data: region-mobilenetv2-N4.dat; re-plot from this directory with: gnuplot region-mobilenetv2-N4.gp
reset session
set encoding utf8
set view map
set logscale xy
set format x '%.0e'
set format y '%.0e'
set xlabel 'link bandwidth (bit/s)'
set ylabel 'device speed (FLOP/s)'
set cblabel 'speed-up T1 / T*'
set cbrange [1:3.83411]
set palette defined (0 '#f0f0f0', 1 '#fdd49e', 2 '#ef6548', 3 '#7f0000')
set key bottom right box opaque
set title "mobilenetv2 on 4 identical nodes (feltin, at most 5 cuts): partitioning pays on 374 of 441 points\nsolver and closed form agree on 441; dashed: B = s b*/W, b* = 0.04096 Mbit (cut 74)"
set xrange [1e+06:1e+10]
set yrange [1e+09:1e+12]
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 900,700 noenhanced font "Sans,10"
} else {
	set terminal png size 900,700 noenhanced
}
set output 'region-mobilenetv2-N4.png'
splot 'region-mobilenetv2-N4.dat' index 0 using 1:2:3 with pm3d title 'speed-up', \
      'region-mobilenetv2-N4.dat' index 1 using 1:2:3 with lines lw 2 dt 2 lc rgb 'black' title 'closed form (2)'
unset output
set terminal svg size 900,700 noenhanced font "Sans,10"
set output 'region-mobilenetv2-N4.svg'
splot 'region-mobilenetv2-N4.dat' index 0 using 1:2:3 with pm3d title 'speed-up', \
      'region-mobilenetv2-N4.dat' index 1 using 1:2:3 with lines lw 2 dt 2 lc rgb 'black' title 'closed form (2)'
unset output
