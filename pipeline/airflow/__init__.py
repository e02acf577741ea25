"""The Airflow layer: how a DAG run maps onto the pipeline's stages. Lives in the installed package so
workers and the triggerer import it; dags/ only wires it."""
