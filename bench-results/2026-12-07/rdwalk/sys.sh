#!/bin/sh
# Syscall account: A and B at once (own ports); perf trace -s on each collector for 30 s inside the window.
# sys.sh A-binary B-binary devices tag
A=$1; B=$2; N=$3; TAG=$4
uptime > sys-$TAG.load
$A bench --devices $N --enrichment --interval 60s --duration 120s --warmup 65s --base-port 32000 > sysA-$TAG.json 2> sysA-$TAG.err &
PA=$!
$B bench --devices $N --enrichment --interval 60s --duration 120s --warmup 65s --base-port 42000 > sysB-$TAG.json 2> sysB-$TAG.err &
PB=$!
sleep 90
timeout -s INT 30 perf trace -s -p $PA > sysA-$TAG.trace 2>&1 &
timeout -s INT 30 perf trace -s -p $PB > sysB-$TAG.trace 2>&1 &
wait $PA $PB
uptime >> sys-$TAG.load
