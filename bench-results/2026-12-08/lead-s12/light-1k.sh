#!/bin/bash
# wait for CI log rc line, then run light-check and 1k pairs
while ! grep -q "^rc=" /tmp/ci-s12a.log; do sleep 5; done
O=/work/wt/lead/bench-results/2026-12-08/lead-s12
cd $O
L="--devices 5000 --checks-per-device 10 --plugin uptime --interval 1s --warmup 10s --duration 20s --max-concurrent 1024 --base-port 30000"
K="--devices 1000 --enrichment --interval 60s --duration 120s --warmup 65s"
R=/work/wt/blk/bench-results/2026-12-08/lead-s12/run.sh
$R $O l1-main /tmp/panoptes-main $L; $R $O l1-lead /tmp/pan-lead2 $L; $R $O l2-main /tmp/panoptes-main $L; $R $O l2-lead /tmp/pan-lead2 $L
$R $O d1k-main /tmp/panoptes-main $K; $R $O d1k-lead /tmp/pan-lead2 $K
echo done >> $O/commands.txt
