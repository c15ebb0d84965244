"""FedAvg of a numpy softmax regression on scikit-learn's bundled digits data (no download)."""
