#!/bin/sh
# Profiles of A and B at once (own ports): prof.sh A-binary B-binary devices tag
A=$1; B=$2; N=$3; TAG=$4
uptime > prof-$TAG.load
$A bench --devices $N --enrichment --interval 60s --duration 120s --warmup 65s --base-port 33000 --cpu-profile profA-$TAG.pb.gz > profA-$TAG.json 2> profA-$TAG.err &
PA=$!
$B bench --devices $N --enrichment --interval 60s --duration 120s --warmup 65s --base-port 43000 --cpu-profile profB-$TAG.pb.gz > profB-$TAG.json 2> profB-$TAG.err &
PB=$!
wait $PA $PB
uptime >> prof-$TAG.load
