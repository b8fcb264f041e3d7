"""Everything that talks to Kubeflow or Kubernetes: KFP components, the s1 pipeline and its
compiled spec, and the PyTorchJob / InferenceService builders with their launchers.

The library (`s1/`) never imports from here; components import `s1` inside their bodies.
"""
