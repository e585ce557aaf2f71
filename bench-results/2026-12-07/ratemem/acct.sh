#!/bin/sh
# step 1: rates off vs on at 2,000 devices, same minutes, with CPU and heap profiles
B=${B:-./panoptes-main}; T=${T:-main}
uptime > acct-$T.uptime
$B bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --base-port 38000 \
  --cpu-profile acct-$T-off.cpu.pb.gz --heap-profile acct-$T-off.heap.pb.gz > acct-$T-off.json 2> acct-$T-off.stderr &
$B bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --base-port 53000 --rates \
  --cpu-profile acct-$T-on.cpu.pb.gz --heap-profile acct-$T-on.heap.pb.gz > acct-$T-on.json 2> acct-$T-on.stderr &
wait
uptime >> acct-$T.uptime
