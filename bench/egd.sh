#!/bin/sh
echo "bench/egd.sh: not written yet"
