#!/bin/sh
# usage: abprof2.sh TAG A-binary B-binary: as abprof.sh with the ports swapped (A on 53000, B on 38000)
T=$1; A=$2; B=$3
echo "start $(uptime)" >> $T.log
$A bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --rates --base-port 53000 --cpu-profile $T-A.cpu.pb.gz --heap-profile $T-A.heap.pb.gz > $T-A.json 2> $T-A.stderr &
$B bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --rates --base-port 38000 --cpu-profile $T-B.cpu.pb.gz --heap-profile $T-B.heap.pb.gz > $T-B.json 2> $T-B.stderr &
wait
echo "end $(uptime)" >> $T.log
