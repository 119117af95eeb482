"""Soft MoE layer, ViT blocks, CSMoE and CSMAE, UPerNet head, complexity accounting."""
