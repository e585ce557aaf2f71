#!/bin/sh
# Prints a Panoptes resource set; the argument is the site.
cat <<JSON
{"resources":[
 {"resource_id":"r1","resource_endpoint":"10.1.0.1","resource_site":"$1"},
 {"resource_id":"r2","resource_endpoint":"10.1.0.2","resource_site":"$1","resource_metadata":{"model":"mx480"}}
]}
JSON
