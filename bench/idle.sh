#!/bin/sh
echo "bench/idle.sh: not written yet"
