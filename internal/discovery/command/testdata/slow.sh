#!/bin/sh
echo "id,endpoint,site"
sleep 30
echo "a,10.0.0.1,dc1"
