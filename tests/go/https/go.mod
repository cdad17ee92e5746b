module plainsight/https

go 1.15
