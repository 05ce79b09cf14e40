# defer.sh: every figure of this directory. Re-plot them all, from this
# directory, with: gnuplot figures.gp
load 'throughput-resnet50.gp'
load 'payload-resnet50.gp'
load 'energy-resnet50.gp'
load 'throughput-vgg16.gp'
load 'payload-vgg16.gp'
load 'energy-vgg16.gp'
load 'throughput-vgg19.gp'
load 'payload-vgg19.gp'
load 'energy-vgg19.gp'
