"""What the nodes are: a Redis Cluster, a MySQL/MariaDB source→replica pair."""
