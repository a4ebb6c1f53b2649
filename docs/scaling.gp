# Plots docs/scaling.json (written by `troupe-bench --scaling docs/scaling.json`) into
# docs/scaling.svg:   gnuplot docs/scaling.gp   (from the repository root; needs gnuplot and jq)
set terminal svg size 960,420 dynamic font "sans,11"
set output "docs/scaling.svg"
set multiplot layout 1,2 title "troupe vs CAF 0.17, 2 workers each"
set logscale x 10
set format x "%g"

set key top left
set grid

set title "throughput: pairs exchanging 2,000,000 messages"
set xlabel "actors"
set ylabel "messages per second"
set logscale y 10
set format y "%.0e"
plot "< jq -r '.points[] | \"\\(.actors) \\(.troupe_msgs_per_s) \\(.caf_msgs_per_s)\"' docs/scaling.json" \
       using 1:2 with linespoints lw 2 title "troupe", \
     "" using 1:3 with linespoints lw 2 title "CAF 0.17"

set title "resident memory per idle actor"
set ylabel "bytes per actor"
unset logscale y
set format y "%g"
set yrange [0:*]
plot "< jq -r '.points[] | select(.actors >= 1000) | \"\\(.actors) \\(.troupe_bytes_per_actor) \\(.caf_bytes_per_actor)\"' docs/scaling.json" \
       using 1:2 with linespoints lw 2 title "troupe", \
     "" using 1:3 with linespoints lw 2 title "CAF 0.17"
unset multiplot
