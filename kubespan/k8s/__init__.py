"""Kubernetes workflow helpers: `kubespan k8s init` files and the realistic demo span generator."""
