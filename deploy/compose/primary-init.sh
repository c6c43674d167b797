#!/bin/sh
# Run once by the postgres image when it creates the primary's data directory (docker-compose.yml):
# let the replica stream from it over the compose network, with the same password as the application.
set -e
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
