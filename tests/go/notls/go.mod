module plainsight/notls

go 1.15
