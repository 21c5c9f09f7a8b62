//! The storage bindings every kernel of ours declares, written the same way for all.

/// `@group(0) @binding(i) var<storage, read_write> name: array<elem>;` for each name in order,
/// then the parameter block (`"dims: Dims"`, say) as the last binding.
///
/// Every binding is read_write: natively two tensors may share one wgpu buffer, and a read-only
/// binding next to a writable one of the same buffer is a usage conflict.
pub fn storage_bindings<'a>(
    names: impl IntoIterator<Item = &'a str>,
    elem: &str,
    params: &str,
) -> String {
    typed_storage_bindings(names.into_iter().map(|name| (name, elem)), params)
}

/// [`storage_bindings`] with each buffer's own element type: `(name, elem)` in binding order.
pub fn typed_storage_bindings<'a>(
    buffers: impl IntoIterator<Item = (&'a str, &'a str)>,
    params: &str,
) -> String {
    let mut text = String::new();
    let mut count = 0;
    for (i, (name, elem)) in buffers.into_iter().enumerate() {
        text.push_str(&format!(
            "@group(0) @binding({i}) var<storage, read_write> {name}: array<{elem}>;\n"
        ));
        count = i + 1;
    }
    text.push_str(&format!(
        "@group(0) @binding({count}) var<storage, read_write> {params};\n"
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameter_block_comes_last() {
        let text = storage_bindings(["a", "out"], "f32", "dims: Dims");
        assert_eq!(
            text,
            "@group(0) @binding(0) var<storage, read_write> a: array<f32>;\n\
             @group(0) @binding(1) var<storage, read_write> out: array<f32>;\n\
             @group(0) @binding(2) var<storage, read_write> dims: Dims;\n"
        );
    }
}
