# seifer.sh: every figure of this directory. Re-plot them all, from this
# directory, with: gnuplot figures.gp
load 'throughput-nodes.gp'
load 'timeline.gp'
