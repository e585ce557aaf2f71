#!/bin/sh
# One run at a time, A then B (less disk at once than two together). seq.sh A-binary B-binary devices tag [extra bench flags]
A=$1; B=$2; N=$3; TAG=$4; shift 4
uptime > ab-$TAG.load
$A bench --devices $N --enrichment --interval 60s --duration 120s --warmup 65s --base-port 31000 "$@" > A-$TAG.json 2> A-$TAG.err
uptime >> ab-$TAG.load
$B bench --devices $N --enrichment --interval 60s --duration 120s --warmup 65s --base-port 41000 "$@" > B-$TAG.json 2> B-$TAG.err
uptime >> ab-$TAG.load
