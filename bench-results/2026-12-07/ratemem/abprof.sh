#!/bin/sh
# usage: abprof.sh TAG A-binary B-binary: A and B at once on two ports, 2,000 devices, rates on, CPU and heap profiles
T=$1; A=$2; B=$3
echo "start $(uptime)" >> $T.log
$A bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --rates --base-port 38000 --cpu-profile $T-A.cpu.pb.gz --heap-profile $T-A.heap.pb.gz > $T-A.json 2> $T-A.stderr &
$B bench --devices 2000 --enrichment --interval 30s --duration 60s --warmup 35s --rates --base-port 53000 --cpu-profile $T-B.cpu.pb.gz --heap-profile $T-B.heap.pb.gz > $T-B.json 2> $T-B.stderr &
wait
echo "end $(uptime)" >> $T.log
