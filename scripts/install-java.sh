#!/usr/bin/env bash
# A Java runtime for PySpark (the indicator engine's Spark path, Spark 4 needs Java 17+).
# Idempotent: does nothing when java is already on PATH.
set -euo pipefail

if ! command -v java >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless
fi
