-- Runs once, on the first start of an empty PostgreSQL data directory
-- (/docker-entrypoint-initdb.d in the postgres image; a ConfigMap in infra/k8s/postgres.yaml).
-- The databases belong to POSTGRES_USER, the user the entrypoint runs this script as. Same names as
-- `corpusmill stack up` creates (corpusmill/stack_services.py).
CREATE DATABASE corpusmill_prefect;
CREATE DATABASE corpusmill_mlflow;
