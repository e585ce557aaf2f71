#!/bin/sh
# Prints nothing and succeeds: a broken adapter.
exit 0
