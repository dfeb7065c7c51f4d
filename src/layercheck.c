/* layercheck: an empty program that each layer's library is linked into
 * whole, against only the layers it declares (src/CMakeLists.txt): an
 * object that calls a function of a higher layer leaves an undefined
 * symbol, and the build fails. */
int main(void)
{
    return 0;
}
