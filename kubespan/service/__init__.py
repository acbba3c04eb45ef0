"""The service: typed component configs, their factories, and the `Service` that runs them."""
