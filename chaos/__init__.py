"""chaos: failover and chaos testing for Redis Cluster and MySQL/MariaDB replication."""

__version__ = "0.1.0"
