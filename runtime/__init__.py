"""Runtime plumbing: configuration, the SparkSession, Delta I/O, the JVM class archive, task summaries and the Airflow launchers."""
