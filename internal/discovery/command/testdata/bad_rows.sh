#!/bin/sh
echo "id,endpoint,site"
echo "a,10.0.0.1,dc1"
echo ",10.0.0.2,dc1"
echo "c,,dc1"
echo "d,10.0.0.4"
