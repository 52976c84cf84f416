#!/bin/sh
echo "bench/refill.sh: not written yet"
