namespace AttnScope.Views.Static;

/// <summary>The views AttnScope draws.</summary>
internal enum ViewKind
{
    /// <summary>One head (or the mean / max of the heads) of one layer, labelled on both axes.</summary>
    Head,
    /// <summary>All heads of one layer in a grid.</summary>
    Heads,
    /// <summary>One head (or the mean / max of the heads) across all layers in a grid.</summary>
    Layers,
    /// <summary>Layers × heads thumbnails.</summary>
    Model,
}
