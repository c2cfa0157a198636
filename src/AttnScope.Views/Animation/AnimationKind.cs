namespace AttnScope.Views.Animation;

/// <summary>What an animated view steps through.</summary>
internal enum AnimationKind
{
    /// <summary>One frame per layer.</summary>
    Layers,
    /// <summary>One frame per generation step of a decoder language model's capture, rows revealed so far.</summary>
    Steps,
}
