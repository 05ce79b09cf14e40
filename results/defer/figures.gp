# defer.sh: every figure of this directory. Re-plot them all, from this
# directory, with: gnuplot figures.gp
load 'throughput-resnet50.gp'
load 'payload-resnet50.gp'
load 'energy-resnet50.gp'
